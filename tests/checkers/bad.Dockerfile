# A Dockerfile every checker must reject: unpinned base, apt without cleanup, cd instead of WORKDIR,
# an unquoted variable in a shell step.
FROM ubuntu
RUN apt-get update && apt-get install -y curl
RUN cd /tmp && echo $HOME
