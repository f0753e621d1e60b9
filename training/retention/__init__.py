"""Retention: removing the personal data of officers deactivated longer ago than the records schedule keeps it."""
