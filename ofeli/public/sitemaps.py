from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import PublishedFormation


class FormationSitemap(Sitemap):
    changefreq = "weekly"
    limit = 10000

    def items(self):
        return PublishedFormation.objects.only("reference", "slug", "updated_at").order_by("reference")

    def location(self, item):
        return reverse("public:formation", args=[item.reference, item.slug])

    def lastmod(self, item):
        return item.updated_at


class OrganismeSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return sorted(set(PublishedFormation.objects.values_list("structure__reference", flat=True)))

    def location(self, item):
        return reverse("public:organisme", args=[item])


class SearchSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["public:search"]

    def location(self, item):
        return reverse(item)


SITEMAPS = {"recherche": SearchSitemap, "formations": FormationSitemap, "organismes": OrganismeSitemap}
