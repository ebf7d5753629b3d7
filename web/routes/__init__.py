"""One router per resource, joined in web.app."""
