from django.db import models


class User(models.Model):
    username = models.CharField(max_length=40, unique=True)
    signup = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "blog"


class Profile(models.Model):
    user = models.OneToOneField(User, related_name="profile", on_delete=models.CASCADE)
    bio = models.CharField(max_length=200, default="")

    class Meta:
        app_label = "blog"


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        app_label = "blog"
        ordering = ["name"]


class Article(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(default="")
    author = models.ForeignKey(User, related_name="articles", on_delete=models.CASCADE)
    editor = models.ForeignKey(User, related_name="edited", null=True, on_delete=models.SET_NULL)
    created = models.DateTimeField()
    tags = models.ManyToManyField(Tag, related_name="articles")

    class Meta:
        app_label = "blog"


class Comment(models.Model):
    article = models.ForeignKey(Article, related_name="comments", on_delete=models.CASCADE)
    author = models.ForeignKey(User, related_name="comments", on_delete=models.CASCADE)
    body = models.TextField()
    created = models.DateTimeField()

    class Meta:
        app_label = "blog"
        indexes = [models.Index(fields=["article", "created"])]
