"""The ORM benchmark's data: users, tags, articles (M2M to tags), comments."""
