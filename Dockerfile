# One image, two entry points: `dlws-operator` and `dlws-api-shim` (the manifests pick one).
# It installs the lock the tests run with, requirements/runtime.txt (hashed), then this
# package without dependencies. Not built on the development machine (it has no
# container engine): the image tested there is the one `make image` builds (image/build.sh).
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
RUN python -m venv /opt/dlws \
 && /opt/dlws/bin/pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml setup.cfg README.md ./
COPY dlws_contract/ dlws_contract/
COPY operator/ operator/
COPY api_shim/ api_shim/
COPY kubectl_plugin/ kubectl_plugin/
RUN /opt/dlws/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
COPY --from=build /opt/dlws /opt/dlws
ENV PATH=/opt/dlws/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# The distroless-style "nonroot" uid the manifests run as.
USER 65532:65532
EXPOSE 5000 8080 9090
CMD ["dlws-api-shim", "--host=0.0.0.0", "--port=5000"]
