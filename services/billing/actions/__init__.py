"""What billing does, one function per action or event, each over a transaction."""
from . import invoices, prices, qr, refunds, reports, review, statements  # noqa: F401
from .orders import (cancel_order, may_see, open_orders, open_retake_order, order_of_enrollment,  # noqa: F401
                     orders_of_enrollment, record_study, study_begun, view, visible_order)
from .payments import record_payment  # noqa: F401
