"""python -m shared.dev.paystand keys|serve [--dir var/keys/wechatpay] [--port 8090]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from werkzeug.serving import make_server

from . import keys
from .wechatpay import WeChatPayStandIn

DEFAULT_PORT = 8090


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.dev.paystand")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("keys", "make the development WeChat Pay keys if absent"),
                       ("serve", "run the WeChat Pay stand-in")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--dir", type=Path, default=keys.DEV_DIR)
        command.add_argument("--mchid", default=keys.DEV_MCHID)
    serve = sub.choices["serve"]
    serve.add_argument("--appid", default=keys.DEV_APPID)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    files = keys.ensure(args.dir, args.mchid)
    if args.command == "serve":
        app = WeChatPayStandIn(files, args.mchid, args.appid)
        server = make_server(args.host, args.port, app, threaded=True)
        print(f"WeChat Pay stand-in on http://{args.host}:{server.port} (keys in {args.dir})", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
