// SPDX-License-Identifier: BSD-2-Clause
// Every tool in one program; `allTools` is written by the ToolList plugin.
import ToolSupport

MultiCall(tools: allTools).main()
