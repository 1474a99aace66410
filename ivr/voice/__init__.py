"""The voice line: its webhooks, the TwiML script, understanding speech, "text me" and call status.

May import content, store and the base modules; never the text line or the tools.
"""
