# ltp-lens dashboard on the shipped models: docker build -t ltp-lens . && docker run -p 8501:8501 ltp-lens
# The image follows the README's install steps exactly: `make run` (= make venv, then streamlit).
FROM python:3.11-slim

# make drives the same targets as on a workstation; nothing else is needed from Debian
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

# the CPU build of torch==2.13.0 (plain PyPI would bring the multi-GB CUDA build)
ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1

RUN useradd --create-home --uid 1000 ltp
WORKDIR /home/ltp/app
COPY --chown=ltp:ltp . .
USER ltp

# the pinned virtual environment, built once at image build time (make venv)
RUN make venv PYTHON=python3.11

# the image is a public demo: no free path box, no server path on a page, bounded inputs,
# no heavy actions (README: "Public demo"); run with -e LTP_PUBLIC_DEMO=0 for your own use
ENV LTP_PUBLIC_DEMO=1

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD .venv/bin/python -c "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"

CMD ["make", "run"]
