import Foundation
import PointECheckpoint

/// An interactive 3D view of a prompt's GLB beside its PNG preview: report/view.html, opened as
/// `report/view.html#meshes/ID.glb`, draws the mesh with three.js (turn by dragging, zoom by
/// scrolling). three.js comes from Debian's libjs-three (scripts/install-deps.sh): its files are
/// copied into report/three/ so the report stays self-contained; without the package the
/// report has no 3D links and is otherwise the same.
///
/// A page opened from disk may not read other files in most browsers (Chrome, Firefox); then
/// the view asks for the GLB with a file picker instead (or serve the job directory over HTTP,
/// e.g. `python3 -m http.server`, and it loads at once).
enum MeshViewer {
    static let page = "\(JobReportPage.folder)/view.html"
    static let threeFolder = "\(JobReportPage.folder)/three"
    /// Debian's libjs-three: the build and the non-module loader and controls (global THREE).
    static let threeSource = "/usr/share/javascript/three"
    static let threeFiles = ["three.min.js", "examples/js/loaders/GLTFLoader.js", "examples/js/controls/OrbitControls.js"]

    /// Writes report/view.html and copies three.js beside it, when Debian's three.js is
    /// installed; returns whether the view is there. Files already copied are kept.
    static func install(in directory: JobDirectory, threeSource: String = threeSource) throws -> Bool {
        let sources = threeFiles.map { (threeSource as NSString).appendingPathComponent($0) }
        guard sources.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) else { return false }
        try FileManager.default.createDirectory(atPath: directory.file(threeFolder), withIntermediateDirectories: true)
        for source in sources {
            let target = directory.file(threeFolder + "/" + (source as NSString).lastPathComponent)
            guard !FileManager.default.fileExists(atPath: target) else { continue }
            do { try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: source)), to: target) } catch {
                throw FileError(target, "cannot copy three.js from \(source): \(error)")
            }
        }
        try AtomicFile.write(Data(html.utf8), to: directory.file(page))
        return true
    }

    static let html = """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>pointe mesh</title>
    <style>
    html, body { margin: 0; height: 100%; background: #f4f4f4; font: 14px/1.4 system-ui, sans-serif; color: #222; }
    #bar { position: absolute; top: 0; left: 0; right: 0; padding: 6px 10px; background: rgba(255, 255, 255, .85); }
    #message { color: #b00; }
    canvas { display: block; }
    </style></head>
    <body data-state="loading">
    <div id="bar"><b id="name"></b> &middot; drag to turn, scroll to zoom, right-drag to move
    <span id="message"></span> <input type="file" id="pick" accept=".glb" hidden></div>
    <script src="three/three.min.js"></script>
    <script src="three/GLTFLoader.js"></script>
    <script src="three/OrbitControls.js"></script>
    <script>
    // The mesh: the path after '#', relative to the job directory (this page is in report/).
    var mesh = decodeURIComponent(location.hash.slice(1));
    var body = document.body, message = document.getElementById("message"), pick = document.getElementById("pick");
    document.getElementById("name").textContent = mesh || "no mesh named (view.html#meshes/ID.glb)";
    var renderer = new THREE.WebGLRenderer({ antialias: true });
    renderer.setPixelRatio(window.devicePixelRatio);
    renderer.setSize(window.innerWidth, window.innerHeight);
    renderer.setClearColor(0xf4f4f4);
    renderer.gammaOutput = true;  // sRGB output (three.js r111)
    renderer.gammaFactor = 2.2;
    document.body.appendChild(renderer.domElement);
    var scene = new THREE.Scene();
    scene.add(new THREE.HemisphereLight(0xffffff, 0x444444, 0.5));
    var camera = new THREE.PerspectiveCamera(35, window.innerWidth / window.innerHeight, 0.01, 100);
    var sun = new THREE.DirectionalLight(0xffffff, 0.5);
    sun.position.set(0.5, 1, 3);
    camera.add(sun);  // the light turns with the view
    scene.add(camera);
    var controls = new THREE.OrbitControls(camera, renderer.domElement);
    function draw() { renderer.render(scene, camera); }
    controls.addEventListener("change", draw);
    window.addEventListener("resize", function () {
      camera.aspect = window.innerWidth / window.innerHeight;
      camera.updateProjectionMatrix();
      renderer.setSize(window.innerWidth, window.innerHeight);
      draw();
    });
    // pointe's GLBs are +Y up with their front on +Z (docs/FORMATS.md): look at the front.
    function show(gltf) {
      scene.add(gltf.scene);
      var sphere = new THREE.Box3().setFromObject(gltf.scene).getBoundingSphere(new THREE.Sphere());
      camera.position.copy(sphere.center).add(new THREE.Vector3(0, sphere.radius * 0.6, sphere.radius * 3.2));
      controls.target.copy(sphere.center);
      controls.update();
      draw();
      var vertices = 0;
      gltf.scene.traverse(function (o) { if (o.isMesh) vertices += o.geometry.attributes.position.count; });
      message.textContent = "";
      body.setAttribute("data-vertices", String(vertices));
      body.setAttribute("data-state", "shown");
    }
    function failed(error) {
      message.textContent = "cannot show " + mesh + ": " + error;
      body.setAttribute("data-state", "failed");
    }
    var loader = new THREE.GLTFLoader();
    pick.addEventListener("change", function () {
      var reader = new FileReader();
      reader.onload = function () { loader.parse(reader.result, "", show, failed); };
      reader.readAsArrayBuffer(pick.files[0]);
    });
    if (mesh) {
      loader.load("../" + mesh, show, undefined, function () {
        // Opened from disk, the browser may not let this page read the file: ask for it.
        message.textContent = "this browser does not let a page opened from disk read " + mesh + ": choose it here";
        pick.hidden = false;
        body.setAttribute("data-state", "pick");
      });
    }
    </script>
    </body></html>

    """
}
