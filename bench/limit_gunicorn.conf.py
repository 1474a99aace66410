"""gunicorn settings for bench/limit_app.py: none beyond the Procfile's command line.

bench/run.py passes this file to the limit so that it does not pick up ./gunicorn.conf.py, whose
hooks check the line's prompts/ in the master (the line's own start-up work, not the stack's).
"""
