from django.db import models


class User(models.Model):
    username = models.CharField(max_length=40, unique=True)
    joined = models.DateTimeField(auto_now_add=True)
