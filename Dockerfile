# The platform's image: web (gunicorn), ws (daphne), Celery worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=helpdesk.settings.production \
    HELPDESK_VAR_DIR=/data/var \
    DJANGO_MEDIA_ROOT=/data/media \
    DJANGO_PRIVATE_MEDIA_ROOT=/data/private \
    DJANGO_STATIC_ROOT=/app/staticfiles

WORKDIR /app
RUN useradd --create-home --uid 1000 helpdesk \
    && mkdir -p /data/var /data/media /data/private \
    && chown -R helpdesk:helpdesk /data

COPY . .
RUN pip install .

# Production settings refuse to load without their variables; these placeholders exist only for
# this build step (collectstatic touches neither the database nor Redis).
RUN DJANGO_SECRET_KEY=collectstatic-only-placeholder-never-used-at-run-time-0123456789 \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    REDIS_URL=redis://localhost:6379/0 \
    HELPDESK_VAR_DIR=/tmp/collectstatic-var \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/collectstatic-var /tmp/collectstatic.sqlite3

USER helpdesk
EXPOSE 8000
CMD ["gunicorn", "helpdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
