"""A real SMTP relay with STARTTLS and AUTH for the relay test, run in its own process (outside
eventlet): `python tls_relay.py PORT CERT KEY USER PASSWORD OUTDIR`. Each accepted message is
written to OUTDIR/<n>.eml; each login attempt appends a line to OUTDIR/logins."""
import ssl
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def main(port, cert, key, user, password, outdir):
    out = Path(outdir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        with (out / "logins").open("a") as handle:
            handle.write(f"{mechanism} {ok}\n")
        return AuthResult(success=ok, handled=False)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            count = len(list(out.glob("*.eml")))
            (out / f"{count + 1}.eml.tmp").write_bytes(envelope.original_content or envelope.content)
            (out / f"{count + 1}.eml.tmp").rename(out / f"{count + 1}.eml")
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), tls_context=context,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    (out / "ready").write_text("ok")
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(*sys.argv[1:])
