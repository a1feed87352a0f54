"""Thin shells around the API: the command line, the calendar picture, the syntax highlighter."""
