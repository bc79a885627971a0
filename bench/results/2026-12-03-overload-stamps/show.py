import json,sys
for f in sys.argv[1:]:
  d=json.load(open(f))
  def find(x):
    if isinstance(x,dict):
      if 'seconds' in x and 'phases' in x: return x
      for v in x.values():
        r=find(v)
        if r: return r
    if isinstance(x,list):
      for v in x:
        r=find(v)
        if r: return r
  ov=find(d)
  print('==',f)
  for s in ov['seconds']: print(s['second'],s['phase'],int(s['offered']),s['published'],s['delivered'],s['latency'].get('p50_us'),s['latency'].get('p99_us'),s.get('server_rss',0)//1000000, s.get('disconnects'))
  for p in ov['phases']: print(p['phase'],'del/s',int(p['delivered_per_s']),'p99',p['latency'].get('p99_us'),'srv%',round(p.get('server_cpu_pct',0)),'tool%',round(p.get('tool_cpu_pct',0)),'us/del',round(p.get('server_us_per_delivery',0),3),'pub',p['published'],'of',int(p['offered']))
  print('lost',ov['lost'],'disc',ov['disconnects'])
