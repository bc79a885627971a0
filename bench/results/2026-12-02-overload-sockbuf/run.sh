#!/bin/bash
for rep in 1 2; do
/tmp/ov.sh /tmp/ov default-pub32k-$rep "" "-pub-sndbuf 32768"
/tmp/ov.sh /tmp/ov snd64k-pub32k-$rep "-sndbuf 65536" "-pub-sndbuf 32768"
/tmp/ov.sh /tmp/ov snd64k-$rep "-sndbuf 65536" ""
/tmp/ov.sh /tmp/ov default-$rep "" ""
done
touch /tmp/ov/done
#!/bin/bash
for rep in 1 2; do
/tmp/ov.sh /tmp/ov rcv16k-pub32k-$rep "-rcvbuf 16384" "-pub-sndbuf 32768"
/tmp/ov.sh /tmp/ov rcv16k-$rep "-rcvbuf 16384" ""
/tmp/ov.sh /tmp/ov rcv16k-snd32k-pub32k-$rep "-rcvbuf 16384 -sndbuf 32768" "-pub-sndbuf 32768"
done
touch /tmp/ov/done2
