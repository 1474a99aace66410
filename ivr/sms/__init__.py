"""The text line: its webhook, its replies, keyword matching and delivery status.

May import content, store and the base modules; never the voice line or the tools.
"""
