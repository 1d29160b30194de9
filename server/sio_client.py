"""What the device clients (the kiosk agent, the hall board) need from python-socketio's
client beyond the library itself."""

from __future__ import annotations

import socketio


class GoodbyeAwareClient(socketio.Client):
    """Remembers a server's goodbye to a namespace that arrives before ``connect()`` has
    returned.  The library ignores it then (the client is not yet ``connected``), which
    would leave a device on a connection the server has already let go; the device's
    connection loop looks at ``early_goodbye`` once ``connect()`` returns."""

    early_goodbye = False

    def _handle_disconnect(self, namespace: str | None) -> None:
        if not self.connected:
            self.early_goodbye = True
        super()._handle_disconnect(namespace)
