FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY schema schema
COPY resolvers resolvers
COPY loaders loaders
RUN pip install --no-cache-dir . && useradd --system gateway
USER gateway
ENV GATEWAY_ENV=production GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8000
EXPOSE 8000
CMD ["gateway", "serve"]
