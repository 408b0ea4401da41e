# syntax=docker/dockerfile:1
# One image recipe for the five services and the gateway; the build arguments say which project it builds.
# Build from the repository root (projects need services/Shared and proto/):
#   docker build --build-arg PROJECT_DIR=services/Mastery --build-arg ASSEMBLY=Mastery -t beacon-mastery:<tag> .
#   docker build --build-arg PROJECT_DIR=gateway --build-arg ASSEMBLY=Gateway -t beacon-gateway:<tag> .
# PROJECT_DIR is the project's folder, ASSEMBLY its name: the project file is $PROJECT_DIR/$ASSEMBLY.csproj.
# skaffold.yaml passes both for each image; charts/tests/check-build-files.mjs checks them.
ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG PROJECT_DIR
ARG ASSEMBLY
WORKDIR /src
# topology.json goes next to every process (Beacon.ServiceDefaults copies it): its defaults are overridden below
# and by the chart, which gives the addresses of the services a component calls.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig topology.json ./
# Shared libraries and contracts wholesale, so that a new library under services/Shared needs no change here;
# then only the project's own folder, so that one service's change leaves the other images (and their
# skaffold input digests) alone.
COPY proto/ proto/
COPY services/Shared/ services/Shared/
COPY ${PROJECT_DIR}/ ${PROJECT_DIR}/
# The package cache is a BuildKit cache mount: a source change re-runs restore without downloading again;
# "locked" because skaffold builds two images at once and both would write to it.
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages,sharing=locked \
    dotnet restore ${PROJECT_DIR}/${ASSEMBLY}.csproj
# The app host (a native launcher next to the dll) gets one fixed name, because ENTRYPOINT cannot expand a
# build argument and the chiseled runtime has no shell to do it; the launcher finds ${ASSEMBLY}.dll by itself.
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages,sharing=locked \
    dotnet publish ${PROJECT_DIR}/${ASSEMBLY}.csproj -c Release --no-restore -o /app -p:UseAppHost=true \
    && mv /app/${ASSEMBLY} /app/beacon-service

# Chiseled runtime: no shell, no package manager, non-root "app" user (UID 1654); "extra" adds ICU and tzdata.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble-chiseled-extra AS final
WORKDIR /app
COPY --from=build /app ./
# Listen on all interfaces in the container (topology.json gives loopback ports for local runs):
# 8080 HTTP/1.1 (REST, health), 8081 HTTP/2 (gRPC). ASPNETCORE_HTTP_PORTS is cleared so Kestrel uses only these.
ENV ASPNETCORE_HTTP_PORTS= \
    Kestrel__Endpoints__Http__Url=http://0.0.0.0:8080 \
    Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:8081 \
    DOTNET_gcServer=0
EXPOSE 8080 8081
# Workstation GC: a small heap suits the chart's memory limits. Nothing is written under /app: with a
# read-only root filesystem mount a writable /tmp (the chart does).
USER $APP_UID
ENTRYPOINT ["/app/beacon-service"]
