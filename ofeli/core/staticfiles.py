"""Static files storage of production (S1): whitenoise's compressed manifest storage (hashed
names, gzip copies, far-future cache headers), without following « sourceMappingURL »
comments: vendored libraries (Leaflet...) are shipped without their .map files, and a missing
source map must not stop ``collectstatic`` (the comment is left as it is; browsers only ask
for the map when the developer tools are open)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    def keep(pattern):
        return "sourceMappingURL" not in (pattern if isinstance(pattern, str) else pattern[0])

    return tuple((extension, tuple(p for p in group if keep(p))) for extension, group in patterns)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
