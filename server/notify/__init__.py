"""SMS notices about dossiers: an outbox written in the event's own transaction
(``outbox``), pluggable gateways (``gateways``) and the sender (``worker``).

No Flask here except ``worker.start_in_app``, which only hands the loop to Socket.IO's
background-task helper so it runs as a greenlet under gevent.
"""
