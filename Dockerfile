# InferFlux server image (CPU). Bun and a prebuilt libllama come from npm.
#   docker build -t inferflux .
#   docker run -p 8080:8080 -v $PWD/models:/models inferflux serve --model /models/model.gguf --host 0.0.0.0
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save --no-audit --no-fund bun@1.4.4
COPY src ./src
COPY ffi ./ffi
COPY cli ./cli
COPY config ./config
COPY llama.cpp/include ./llama.cpp/include
ENV INFERFLUX_HOST=0.0.0.0 INFERFLUX_PORT=8080
EXPOSE 8080
USER node
ENTRYPOINT ["node", "cli/bin.js"]
CMD ["serve"]
