# Everything the roles could change, as text: file hashes (or "absent") and unit states.
for f in /etc/nova/nova.conf /etc/hosts /etc/libvirt/libvirtd.conf /etc/libvirt/virtproxyd.conf /etc/libvirt/passwd.db \
         /etc/default/libvirtd /etc/sasl2/libvirt.conf /etc/libvirt/auth.conf; do
  if [ -e "$f" ]; then echo "$f $(sha256sum < "$f" | cut -c1-64) $(stat -c '%U:%G:%a' "$f")"; else echo "$f absent"; fi
done
ls /etc/nova/ | sed 's/^/nova-dir: /'
for u in libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd-tcp.socket nova-compute.service nova-scheduler.service; do
  echo "$u enabled=$(systemctl is-enabled $u 2>/dev/null) active=$(systemctl is-active $u 2>/dev/null) pid=$(systemctl show -p MainPID --value $u 2>/dev/null)"
done
# libvirtd.service itself is socket-activated and exits after 120 s idle (--timeout 120), so its
# running state says nothing about the roles; its enablement and the sockets above do.
echo "libvirtd.service enabled=$(systemctl is-enabled libvirtd.service 2>/dev/null)"
