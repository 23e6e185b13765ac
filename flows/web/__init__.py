"""The web app for the people who read the alerts: recipients by signed link, editors by
account, archive search, Atom feeds (Starlette, Jinja2, server-rendered)."""
