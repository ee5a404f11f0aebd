"""The payment providers' APIs, each behind one small class: billing's actions and
rules never see an SDK. `wechatpay`: WeChat Pay API v3 (Native QR payments)."""
