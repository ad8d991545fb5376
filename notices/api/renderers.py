import json

from rest_framework import renderers


class PassthroughRenderer(renderers.BaseRenderer):
    """A download answers whatever the client accepts; errors on that path still go out as JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return json.dumps(data, ensure_ascii=False).encode()
