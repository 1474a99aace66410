"""Every word the line says or texts: loading and checking prompts/, the menu, opening hours, GSM-7.

Imports only the base modules of ``ivr``: never the voice line, the text line, storage or the tools.
"""
