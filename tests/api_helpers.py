"""Helpers shared by the API tests."""


def walk(client, url: str) -> list[list[dict]]:
    """Every page of a cursor-paginated list, following the next links."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        pages.append(response.json()["results"])
        url = response.json()["next"]
    return pages
