from django.conf import settings


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "CARIF_NAME": settings.CARIF_NAME,
        "REGION_NAME": settings.REGION_NAME,
        "PUBLIC_SITE_NAME": settings.PUBLIC_SITE_NAME,
        "REGION": settings.REGION,
        "CARIF_ADDRESS": settings.CARIF_ADDRESS,
        "CARIF_EMAIL": settings.CARIF_EMAIL,
        "CARIF_PHONE": settings.CARIF_PHONE,
        "RECTORAT_NAME": settings.RECTORAT_NAME,
        "RECTORAT_PHONE": settings.RECTORAT_PHONE,
        # « la région Centre-Val de Loire » / « la France » (S2: a national instance)
        "REGION_AREA": "la France" if settings.REGION.national else f"la région {settings.REGION_NAME}",
    }
