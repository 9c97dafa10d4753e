# utils/realtime.py
import json
from channels.layers import get_channel_layer
from asgiref.sync import async_to_sync

def emit_event(user_id: str, event_type: str, metadata: dict | None = None):
    """
    Emit a lightweight event through WebSocket.
    No full data payload - just the event signal.
    """
    channel_layer = get_channel_layer()
    async_to_sync(channel_layer.group_send)(
        f"user_{user_id}",
        {
            "type": "push.event",
            "event": event_type,
            "metadata": metadata or {},
        },
    )
