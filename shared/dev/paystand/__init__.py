"""The local stand-in of the payment providers (development and tests only):
`python -m shared.dev.paystand keys` makes the test keys under var/keys/wechatpay,
`python -m shared.dev.paystand serve` answers WeChat Pay API v3 on 127.0.0.1:8090.
docs/payments.md describes it."""
