"""What operators and developers run: the flask commands, prompts check, the practice line, the terminal
call and text, twilio setup, the TwiML simulator, stats and /admin.

May import every package and ``ivr.app``'s create_app; nothing below imports the tools.
"""
