"""The contracts with callers: the call request (read and validated once, from its JSON Schema)
and the decision returned for it."""
