"""The cancer recurrence information line: a Flask app that answers Twilio's webhooks.

The base modules here (settings, signatures, the log line, privacy, health, the Twilio client, the running
line) import no package below; the factory, ``ivr.app``, is the one module that sees every package.
"""
