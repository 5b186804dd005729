# Herald: one image for every process (api, worker, scheduler, migrate); see docker-compose.yml.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/herald/bin:$PATH
RUN python -m venv /opt/herald
WORKDIR /src
COPY . .
# Install once for the dependencies, fetch the portal's vendored assets (not in git), then
# reinstall the package alone so those assets ship inside it.
RUN pip install . \
    && python -m portal.assets fetch \
    && pip install --no-deps --force-reinstall .

FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/herald/bin:$PATH
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/herald --create-home \
        --shell /usr/sbin/nologin herald
COPY --from=build /opt/herald /opt/herald
USER herald
WORKDIR /var/lib/herald
EXPOSE 8000
ENTRYPOINT ["herald"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
