"""A small blog, the data of the ORM tests (a Django app, label ``blog``)."""
