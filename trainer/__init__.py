"""The training engine. Knows nothing of chat: it imports only from core/."""
