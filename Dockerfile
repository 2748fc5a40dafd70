# ForwardAuth container image.
#
#   docker build -t forwardauth --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm -p 4181:4181 --read-only \
#     -e PROVIDER_URL=https://id.example.com -e CLIENT_ID=forwardauth \
#     -e CLIENT_SECRET_FILE=/run/secrets/client_secret -e SESSION_ENCRYPTION_KEY_FILE=/run/secrets/session_key \
#     -v "$PWD/secrets:/run/secrets:ro" forwardauth
#
# Listens on port 4181 (ASPNETCORE_URLS). Configuration: environment variables (README, "Configuration"), and/or a
# YAML file mounted anywhere and named by FORWARDAUTH_CONFIG (e.g. -v ./forwardauth.yaml:/etc/forwardauth/config.yaml:ro
# -e FORWARDAUTH_CONFIG=/etc/forwardauth/config.yaml). Runs as the unprivileged user 1654 ("app" of the .NET images),
# writes nothing to disk (JSON logs on stdout), so a read-only root filesystem works as is.
#
# The build and publish commands below are the ones .ci/test runs (ForwardAuth.Tests/Deployment checks they match).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project file and the repository-wide build settings only, so that a code change does not
# invalidate the package layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY ForwardAuth/ForwardAuth.csproj ForwardAuth/
RUN dotnet restore ForwardAuth/ForwardAuth.csproj
COPY ForwardAuth/ ForwardAuth/
# The commit, when the build passes it (.git stays out of the context): MSBuild reads SourceRevisionId from the
# environment and appends it to the assembly's version, which --version, the startup log line and /metrics show.
ARG REVISION=""
ENV SourceRevisionId=$REVISION
RUN dotnet publish ForwardAuth/ForwardAuth.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# VERSION is <Version> of Directory.Build.props (ForwardAuth.Tests/Deployment/VersionTests checks the default); pass
# REVISION as in the build stage.
ARG VERSION=0.2.0
ARG REVISION=""
LABEL org.opencontainers.image.title="ForwardAuth" \
      org.opencontainers.image.description="OpenID Connect forward-auth service for Traefik, sessions shared through Redis" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /app ./
# ASPNETCORE_HTTP_PORTS (8080 in the base image) is emptied so that ASPNETCORE_URLS alone decides where Kestrel
# listens, without a warning at every start. "+" is every address, IPv4 and IPv6.
# Nothing needs a writable /tmp: the runtime's diagnostics socket is skipped when /tmp is read-only (mount a tmpfs
# or emptyDir at /tmp to attach dotnet-counters or dotnet-dump).
ENV ASPNETCORE_URLS=http://+:4181 \
    ASPNETCORE_HTTP_PORTS=""
EXPOSE 4181
USER 1654
# The image has bash but no curl: the probe speaks HTTP over bash's /dev/tcp to the port of ASPNETCORE_URLS.
# /healthz never touches Redis or the provider, so a Redis outage never marks the container unhealthy. No
# --start-period: /healthz answers about a second after start (and dockerfilelint 1.8 misreads hyphenated options).
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD ["bash", "-c", "u=${ASPNETCORE_URLS%%;*}; p=${u##*:}; p=${p%%/*}; exec 3<>/dev/tcp/127.0.0.1/${p:-4181} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "ForwardAuth.dll"]
