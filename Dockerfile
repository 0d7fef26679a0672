# Talonario's image: one image, three processes (see Procfile and compose.yaml).
#   web (default):  gunicorn -c gunicorn.conf.py 'app:create_app()'
#   worker:         flask --app app worker
#   scheduler:      flask --app app scheduler
#   migrations:     flask --app app db upgrade   (compose's one-shot `migrate` service)
FROM python:3.11-slim-trixie

# No font package: the PDFs use the PDF core fonts (Helvetica, cp1252: blueprints/invoices/pdf.py),
# which every PDF reader carries. postgresql-client: `flask backup` runs pg_dump/pg_restore, whose
# major version must not be older than the server's (trixie's is 17: compose.yaml runs 17).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_HOST=0.0.0.0 \
    PORT=8000 \
    TALONARIO_INSTANCE_PATH=/var/lib/talonario

WORKDIR /app

# The dependencies first, read from pyproject.toml: this layer is rebuilt only when they change,
# not at every code change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The app itself, editable: templates, static files, translations and migrations are read from
# /app (they are not package data), so the code runs from here. Catalogs compiled at build.
COPY . .
RUN pip install --no-deps -e . \
    && pybabel -q compile -d translations

# Not root: a flaw in the app gets a user who owns nothing but the instance folder (generated
# secrets when none are given, the archive, mail written as files, the sandbox's state).
RUN useradd --system --uid 10001 --home-dir /var/lib/talonario --shell /usr/sbin/nologin talonario \
    && install -d -o talonario -g talonario -m 0700 /var/lib/talonario /var/lib/talonario-metrics
USER talonario
VOLUME /var/lib/talonario

EXPOSE 8000
# Liveness only: the process answers. Readiness (database, Redis, migrations, keys) is /readyz,
# for the load balancer; a database outage must not get every web container restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=4)"]

# Exec form: gunicorn is the process that receives docker's SIGTERM (a graceful stop).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
