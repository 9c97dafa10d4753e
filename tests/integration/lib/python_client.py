"""A python-socketio client (Debian python3-socketio) for the shutdown test.

Usage: python_client.py <hub url> <token> <event>...
NUDGE_PY_TRANSPORTS=default uses python-socketio's default transports (polling, then the
upgrade to WebSocket); otherwise the client uses WebSocket only.
Prints one JSON object per line: {"type": "connect"}, {"type": "disconnect"} and
{"type": "event", "name": ..., "data": ...} for each listed event. Runs until killed.
"""
import json
import os
import sys

import socketio


def main() -> None:
    url, token, *events = sys.argv[1:]
    sio = socketio.Client(reconnection=True, reconnection_attempts=0,
                          reconnection_delay=0.2, reconnection_delay_max=1)

    def say(**record) -> None:
        print(json.dumps(record), flush=True)

    sio.on('connect', lambda: say(type='connect'))
    sio.on('disconnect', lambda: say(type='disconnect'))
    for name in events:
        sio.on(name, lambda data=None, name=name: say(type='event', name=name, data=data))

    if os.environ.get('NUDGE_PY_TRANSPORTS') == 'default':
        sio.connect(url, auth={'token': token})
    else:
        sio.connect(url, auth={'token': token}, transports=['websocket'])
    say(type='transport', name=sio.transport())
    sio.wait()


if __name__ == '__main__':
    main()
