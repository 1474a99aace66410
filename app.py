"""The WSGI entry point: gunicorn app:app, or flask --app app ..."""

import logging
import os
import sys
import time

import click

from ivr.app import create_app, create_commands_app, opt_outs_warning
from ivr.config import ConfigError
from ivr.content.prompts import ContentError
from ivr.line import EXTENSION

try:
    app = create_app()
except (ContentError, ConfigError) as exc:
    if click.get_current_context(silent=True) is None:  # gunicorn, python -c ...: refuse to start
        if os.environ.get("IVR_GUNICORN_SERVING"):  # set by gunicorn.conf.py once the master checked prompts/
            time.sleep(5)  # a worker restarted while prompts/ is broken: the others serve; gunicorn retries it slowly
        sys.exit(f"The line cannot start: {exc}")
    # flask --app app <command>: the commands still load, so `prompts check` can show what is wrong.
    app = create_commands_app(exc)
else:
    if click.get_current_context(silent=True) is None and not os.environ.get("IVR_GUNICORN_SERVING"):
        warning = opt_outs_warning(app.extensions[EXTENSION].settings)
        if warning:  # under gunicorn, its master says it once (gunicorn.conf.py)
            logging.getLogger("ivr").warning(warning)
