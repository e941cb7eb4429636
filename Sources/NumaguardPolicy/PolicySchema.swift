// The JSON Schema of the policy language, printed by `numaguard policy schema`.
// Generated text: it must stay byte-identical to policies/numaguard-policy.schema.json
// (PolicySchemaTests checks both, and validates the shipped policies against it).

/// The policy language as a JSON Schema (draft 2020-12), for editors.
public enum PolicySchema {
    public static let json: String = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://github.com/numaguard/numaguard/policies/numaguard-policy.schema.json",
  "title": "numaguard policy",
  "description": "A numaguard policy (YAML, version 1), as `numaguard policy check` accepts it. Scalars are read as YAML 1.2 core values (off is a word, 2026-12-31 a string); the loader takes every scalar's text, so a quoted number or boolean is accepted too. The loader checks beyond this schema: the day exists in its month, running.min <= max, workload names are unique, reservations name declared workloads, no two workloads share a match with different placements, nodes named anywhere are below host.topology.nodes, cmdline regexes compile in numaguard's linear-time syntax, comm is at most 15 bytes, a preferred policy names one node, list ranges ascend, a watch.listen port is within 1...65535, durations are within their bounds (interval 10ms...1h, numa_maps_period 1s...24h and 60s...24h with watch.numa_maps: true, dwell 10ms...24h), no by-node mapping names a node twice (0 and 00), no YAML tag other than the core ones is used, the file is at most 1 MiB, lists at most 4096 items, values at most 4096 bytes, and duplicate keys are refused.",
  "type": "object",
  "properties": {
    "version": {
      "description": "The policy language version.",
      "enum": [
        1,
        "1"
      ]
    },
    "host": {
      "type": "object",
      "description": "What the host must look like.",
      "properties": {
        "kernel": {
          "type": "object",
          "description": "Kernel settings.",
          "properties": {
            "numa_balancing": {
              "description": "kernel.numa_balancing: off (exactly 0), normal (1) or tiering (2). off is the word, not YAML 1.1's boolean.",
              "enum": [
                "off",
                "normal",
                "tiering"
              ]
            },
            "zone_reclaim_mode": {
              "description": "vm.zone_reclaim_mode, 0...7.",
              "oneOf": [
                {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 7
                },
                {
                  "type": "string",
                  "pattern": "^\\+?[0-9]+$",
                  "description": "the same number quoted; the loader checks 0...7"
                }
              ]
            },
            "transparent_hugepage": {
              "description": "/sys/kernel/mm/transparent_hugepage/enabled.",
              "enum": [
                "always",
                "madvise",
                "never"
              ]
            },
            "cmdline": {
              "type": "object",
              "description": "Boot command line words that must / must not be present (not the same word in both).",
              "properties": {
                "require": {
                  "$ref": "#/$defs/strings"
                },
                "forbid": {
                  "$ref": "#/$defs/strings"
                }
              },
              "additionalProperties": false
            }
          },
          "additionalProperties": false
        },
        "topology": {
          "type": "object",
          "description": "The expected topology. Nodes named anywhere in the policy must be below nodes.",
          "properties": {
            "nodes": {
              "description": "The number of NUMA nodes.",
              "oneOf": [
                {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536
                },
                {
                  "type": "string",
                  "pattern": "^\\+?[0-9]+$",
                  "description": "the same number quoted; the loader checks 1...65536"
                }
              ]
            },
            "cpus": {
              "type": "object",
              "description": "Each node's CPU list, e.g. {0: \"0-15\"}.",
              "minProperties": 1,
              "propertyNames": {
                "pattern": "^\\+?[0-9]+$"
              },
              "additionalProperties": {
                "$ref": "#/$defs/idList"
              }
            },
            "min_memory": {
              "type": "object",
              "description": "Each node's minimum MemTotal.",
              "minProperties": 1,
              "propertyNames": {
                "pattern": "^\\+?[0-9]+$"
              },
              "additionalProperties": {
                "$ref": "#/$defs/size"
              }
            },
            "distances": {
              "type": "object",
              "description": "Each node's expected distance row.",
              "minProperties": 1,
              "propertyNames": {
                "pattern": "^\\+?[0-9]+$"
              },
              "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {
                  "oneOf": [
                    {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 255
                    },
                    {
                      "type": "string",
                      "pattern": "^\\+?[0-9]+$",
                      "description": "the same number quoted; the loader checks 1...255"
                    }
                  ]
                }
              }
            }
          },
          "additionalProperties": false
        },
        "hugepages": {
          "description": "Huge pages per node.",
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "object",
            "description": "Huge pages of one size on one node; the size must be a whole number of KiB.",
            "properties": {
              "node": {
                "$ref": "#/$defs/nodeId"
              },
              "size": {
                "$ref": "#/$defs/size"
              },
              "count": {
                "oneOf": [
                  {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 2147483647
                  },
                  {
                    "type": "string",
                    "pattern": "^\\+?[0-9]+$",
                    "description": "the same number quoted; the loader checks 0...2147483647"
                  }
                ]
              }
            },
            "required": [
              "node",
              "size",
              "count"
            ],
            "additionalProperties": false
          }
        },
        "headroom": {
          "description": "Free memory nodes must keep.",
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "object",
            "properties": {
              "node": {
                "$ref": "#/$defs/nodeId"
              },
              "min_free": {
                "$ref": "#/$defs/freeMemory"
              }
            },
            "required": [
              "node",
              "min_free"
            ],
            "additionalProperties": false
          }
        },
        "forbid_processes": {
          "$ref": "#/$defs/strings",
          "description": "comm names of competing placement actors (numad, ...) that must not run."
        }
      },
      "additionalProperties": false
    },
    "workloads": {
      "description": "The workloads and where they must run.",
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "description": "One workload. Two workloads with the same match must not declare different placements.",
        "properties": {
          "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]+$",
            "description": "Unique; letters, digits, - and _ (it becomes part of check IDs). The loader also accepts non-ASCII letters and digits."
          },
          "match": {
            "type": "object",
            "description": "How the workload's processes are recognised; every given field must match, and at least one must be given.",
            "properties": {
              "comm": {
                "type": "string",
                "minLength": 1,
                "maxLength": 15,
                "description": "The process comm; at most 15 bytes (the loader counts UTF-8 bytes)."
              },
              "exe": {
                "$ref": "#/$defs/text"
              },
              "cmdline": {
                "type": "string",
                "minLength": 1,
                "format": "regex",
                "description": "A regular expression searched in the command line joined by spaces, matched in linear time: RE2 syntax (classes, \\d \\w \\s \\b as ASCII, anchors, groups, alternation, one of * + ? {n} {n,} {n,m} per item with counts up to 1000 ({,m} is literal text), flags i s m); backreferences, lookaround, atomic groups, possessive quantifiers and a repetition of a repetition (a**, x{2}{3}; group it: (?:x{2}){3}) are refused."
              },
              "cgroup": {
                "$ref": "#/$defs/text",
                "description": "A cgroup v2 path prefix."
              },
              "systemd_unit": {
                "$ref": "#/$defs/text",
                "description": "A systemd unit, the last component of the cgroup path."
              },
              "user": {
                "$ref": "#/$defs/text",
                "description": "A user name or numeric uid."
              }
            },
            "additionalProperties": false,
            "minProperties": 1
          },
          "protected": {
            "$ref": "#/$defs/bool",
            "description": "Never live-migrated: the fix is a restart through numaguard run."
          },
          "running": {
            "type": "object",
            "description": "How many matching processes must run (min <= max).",
            "properties": {
              "min": {
                "$ref": "#/$defs/processCount"
              },
              "max": {
                "$ref": "#/$defs/processCount"
              }
            },
            "additionalProperties": false,
            "minProperties": 1
          },
          "cpus": {
            "description": "Allowed CPUs, by node or as a CPU list (one of the two).",
            "type": "object",
            "properties": {
              "nodes": {
                "$ref": "#/$defs/idList"
              },
              "cpulist": {
                "$ref": "#/$defs/idList"
              }
            },
            "additionalProperties": false,
            "minProperties": 1,
            "maxProperties": 1
          },
          "memory": {
            "type": "object",
            "description": "The memory placement.",
            "properties": {
              "policy": {
                "enum": [
                  "bind",
                  "preferred",
                  "preferred-many",
                  "interleave",
                  "weighted-interleave",
                  "local",
                  "default"
                ],
                "description": "The mode anonymous memory must be under. interleave and weighted-interleave need allow_interleave: true; preferred takes one node; all but local and default need nodes."
              },
              "nodes": {
                "$ref": "#/$defs/idList"
              },
              "max_remote": {
                "$ref": "#/$defs/percent",
                "description": "The largest share of anonymous memory allowed off nodes."
              },
              "allow_interleave": {
                "$ref": "#/$defs/bool"
              },
              "scan": {
                "$ref": "#/$defs/bool",
                "description": "false opts out of numa_maps reads even with watch.numa_maps: true (they hold the target's mmap lock)."
              }
            },
            "required": [
              "policy"
            ],
            "additionalProperties": false,
            "allOf": [
              {
                "if": {
                  "properties": {
                    "policy": {
                      "enum": [
                        "interleave",
                        "weighted-interleave"
                      ]
                    }
                  }
                },
                "then": {
                  "properties": {
                    "allow_interleave": {
                      "enum": [
                        true,
                        "true"
                      ]
                    }
                  },
                  "required": [
                    "allow_interleave"
                  ]
                }
              },
              {
                "if": {
                  "properties": {
                    "policy": {
                      "enum": [
                        "bind",
                        "preferred",
                        "preferred-many",
                        "interleave",
                        "weighted-interleave"
                      ]
                    }
                  }
                },
                "then": {
                  "required": [
                    "nodes"
                  ]
                }
              }
            ]
          }
        },
        "required": [
          "name",
          "match"
        ],
        "additionalProperties": false
      }
    },
    "reserve": {
      "description": "Node reservations.",
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "description": "A node kept for named workloads.",
        "properties": {
          "node": {
            "$ref": "#/$defs/nodeId"
          },
          "for": {
            "$ref": "#/$defs/strings",
            "description": "Names of declared workloads."
          },
          "max_foreign_memory": {
            "$ref": "#/$defs/size",
            "description": "What all other processes together may hold on the node (default 0)."
          }
        },
        "required": [
          "node",
          "for"
        ],
        "additionalProperties": false
      }
    },
    "waivers": {
      "description": "Accepted departures, each with a reason and an expiry.",
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "description": "Silences a check until the end of the expiry day (UTC); an expired waiver fails.",
        "properties": {
          "check": {
            "type": "string",
            "pattern": "^(host|workload|node|drift)\\.",
            "description": "A check ID, or a prefix ending in .* (workload.batch.*, drift.topology.*)."
          },
          "reason": {
            "$ref": "#/$defs/text"
          },
          "expires": {
            "$ref": "#/$defs/date"
          }
        },
        "required": [
          "check",
          "reason",
          "expires"
        ],
        "additionalProperties": false
      }
    },
    "watch": {
      "type": "object",
      "description": "Settings for numaguard watch.",
      "properties": {
        "interval": {
          "$ref": "#/$defs/duration"
        },
        "regimes": {
          "type": "object",
          "properties": {
            "watch": {
              "type": "object",
              "properties": {
                "hint_faults_per_s": {
                  "$ref": "#/$defs/rate"
                }
              },
              "additionalProperties": false
            },
            "shock": {
              "type": "object",
              "properties": {
                "pages_migrated_per_s": {
                  "$ref": "#/$defs/rate"
                },
                "remote_fault_ratio": {
                  "$ref": "#/$defs/rate"
                }
              },
              "additionalProperties": false
            },
            "safe": {
              "type": "object",
              "description": "SAFE (conservative) is also entered when page migrations fail this often.",
              "properties": {
                "migration_failures_per_s": {
                  "$ref": "#/$defs/rate"
                }
              },
              "additionalProperties": false
            },
            "dwell": {
              "description": "Minimum time in a regime, and how long calm must last before it is left.",
              "$ref": "#/$defs/duration"
            },
            "exit": {
              "description": "Hysteresis: a regime is left only below this share of the thresholds that entered it (default 50%); above 0%.",
              "$ref": "#/$defs/percent",
              "not": {
                "pattern": "^ *0*(\\.0*)? *% *$"
              }
            }
          },
          "additionalProperties": false
        },
        "numa_maps_period": {
          "description": "How often protected processes are looked for again, and the shortest time between two numa_maps reads of one when numa_maps is true (default 60s; at least 60s with numa_maps: true).",
          "$ref": "#/$defs/duration"
        },
        "numa_maps": {
          "$ref": "#/$defs/bool",
          "description": "Opt-in (default false): read the numa_maps of protected processes whose memory no dedicated cgroup accounts for. Each read holds the process's mmap lock while the kernel walks its page tables."
        },
        "listen": {
          "description": "Serve /metrics here: PORT (loopback) or IPV4:PORT.",
          "oneOf": [
            {
              "type": "integer",
              "minimum": 1,
              "maximum": 65535
            },
            {
              "type": "string",
              "pattern": "^ *((((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])|localhost):)?[0-9]{1,5} *$"
            }
          ]
        }
      },
      "additionalProperties": false
    }
  },
  "required": [
    "version"
  ],
  "additionalProperties": false,
  "$defs": {
    "text": {
      "type": "string",
      "minLength": 1,
      "description": "A non-empty single value. The loader reads every scalar's text, so an unquoted number or true is also taken as its spelling."
    },
    "bool": {
      "description": "true or false, spelled exactly so (YAML 1.1's yes/no/on/off are refused).",
      "enum": [
        true,
        false,
        "true",
        "false"
      ]
    },
    "nodeId": {
      "description": "A NUMA node number.",
      "oneOf": [
        {
          "type": "integer",
          "minimum": 0,
          "maximum": 65536
        },
        {
          "type": "string",
          "pattern": "^\\+?[0-9]+$",
          "description": "the same number quoted; the loader checks 0...65536"
        }
      ]
    },
    "size": {
      "description": "Bytes: a whole number of bytes, or a decimal followed by B, KiB, MiB, GiB or TiB (1024-based). 1GB, 1G and similar are refused as ambiguous; the loader also refuses sizes of 9e18 bytes or more.",
      "oneOf": [
        {
          "type": "integer",
          "minimum": 0
        },
        {
          "type": "string",
          "pattern": "^ *([0-9]+|[0-9]+(\\.[0-9]+)? *(B|KiB|MiB|GiB|TiB)) *$"
        }
      ]
    },
    "percent": {
      "description": "A share written with a % sign, 0% to 100%: 1%, 0.5%.",
      "type": "string",
      "pattern": "^ *0*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?) *% *$"
    },
    "duration": {
      "description": "A positive duration: 500ms, 1s, 30s, 5m, 1h.",
      "type": "string",
      "pattern": "^ *(?=[0-9.]*[1-9])[0-9]+(\\.[0-9]+)? *(ms|s|m|h) *$"
    },
    "date": {
      "description": "A calendar day YYYY-MM-DD (UTC); the loader also checks the day exists in that month (no 2026-02-30).",
      "type": "string",
      "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
      "format": "date"
    },
    "idList": {
      "description": "A set of ids: a number, a kernel list string such as \"0-3,8\", or a non-empty list of numbers. The loader also refuses descending ranges and ids above 65536.",
      "oneOf": [
        {
          "type": "integer",
          "minimum": 0,
          "maximum": 65536
        },
        {
          "type": "string",
          "pattern": "^\\s*[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\\s*$"
        },
        {
          "type": "array",
          "minItems": 1,
          "items": {
            "$ref": "#/$defs/nodeId"
          }
        }
      ]
    },
    "freeMemory": {
      "description": "Free memory a node must keep: a size (64GiB), a share of the node (50%), or a multiple of what protected workloads hold resident there (2x protected).",
      "oneOf": [
        {
          "$ref": "#/$defs/size"
        },
        {
          "$ref": "#/$defs/percent"
        },
        {
          "type": "string",
          "pattern": "^ *(?=[0-9.]*[1-9])[0-9]+(\\.[0-9]+)?x +protected *$"
        }
      ]
    },
    "processCount": {
      "description": "A number of processes.",
      "oneOf": [
        {
          "type": "integer",
          "minimum": 0,
          "maximum": 1000000
        },
        {
          "type": "string",
          "pattern": "^\\+?[0-9]+$",
          "description": "the same number quoted; the loader checks 0...1000000"
        }
      ]
    },
    "rate": {
      "description": "A non-negative number.",
      "oneOf": [
        {
          "type": "number",
          "minimum": 0
        },
        {
          "type": "string",
          "pattern": "^[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$"
        }
      ]
    },
    "strings": {
      "description": "A non-empty list: an empty one would assert nothing (remove the key instead).",
      "type": "array",
      "minItems": 1,
      "items": {
        "$ref": "#/$defs/text"
      }
    }
  }
}

"""#
}
