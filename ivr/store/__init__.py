"""What persists: storage on SQLAlchemy, usage events, retention and the migrations runner.

Imports only the base modules of ``ivr``: never content, the voice line, the text line or the tools.
"""
