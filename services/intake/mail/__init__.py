"""Intake's e-mail gateway: SMTP receiver (gateway.py), durable raw store (store.py), parser and
classifier (parse.py), reply matching (threading.py), quarantine and attachments, and the intake
side that turns stored mail into draft referrals, replies, and links (processing.py)."""
