"""The policy language: grammar -> parser (Lark LALR, spans kept) -> typed nodes -> checker
(every error at once); also the formatter and the unparser that print nodes back as text."""
