# One image for every process (web, workers, beat); the command picks the role.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=0
WORKDIR /app
COPY requirements/ requirements/
# Web and CPU workers never import torch, but one image keeps deployment simple. On GPU hosts
# replace the torch line's index with a CUDA build (see README "GPU hosts").
RUN pip install --no-cache-dir -r requirements/worker.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
