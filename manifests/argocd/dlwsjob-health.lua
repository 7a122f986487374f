-- Argo CD health check for dlworkspace.io/DLWSJob.
-- Install: put this under resource.customizations.health.dlworkspace.io_DLWSJob in argocd-cm
-- (see manifests/argocd/argocd-cm-patch.yaml).
local hs = {}
if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the job"
  return hs
end
local phase = obj.status.phase
local message = obj.status.message
if phase == "Running" or phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = message or ("Job is " .. string.lower(phase))
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message or "Job failed"
elseif phase == "Killing" then
  hs.status = "Progressing"
  hs.message = "Job is being killed with every job it submitted"
else
  hs.status = "Progressing"
  hs.message = message or ("Job is " .. string.lower(phase))
end
return hs
