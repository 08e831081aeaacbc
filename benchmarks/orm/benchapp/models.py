from django.db import models


class User(models.Model):
    username = models.CharField(max_length=40, unique=True)

    class Meta:
        app_label = "bench"


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        app_label = "bench"


class Article(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.ForeignKey(User, related_name="articles", on_delete=models.CASCADE)
    created = models.DateTimeField(db_index=True)
    tags = models.ManyToManyField(Tag, related_name="articles")

    class Meta:
        app_label = "bench"


class Comment(models.Model):
    article = models.ForeignKey(Article, related_name="comments", on_delete=models.CASCADE)
    author = models.ForeignKey(User, related_name="comments", on_delete=models.CASCADE)
    body = models.TextField()
    created = models.DateTimeField()

    class Meta:
        app_label = "bench"
        indexes = [models.Index(fields=["article", "created"])]
