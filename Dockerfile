FROM node:20-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DAGYARD_DATA_DIR=/var/lib/dagyard
WORKDIR /app
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY dags ./dags
COPY autoscaler ./autoscaler
COPY provisioning ./provisioning
COPY templates ./templates
COPY manage.py ./
COPY --from=web /app/node_modules ./node_modules
RUN pip install --no-cache-dir . \
 && DEBUG=true SECRET_KEY=build-only dagyard collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "orchestrator.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
